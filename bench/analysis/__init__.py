"""Reading results files only: compare two files, write a report."""
