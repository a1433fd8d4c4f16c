"""The physical limit: model math, the roofline bound, the scheduler simulation and the row's prediction."""
