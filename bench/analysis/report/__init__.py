"""`bench report`: results CSVs -> one self-contained HTML page, Markdown and PNG charts."""
