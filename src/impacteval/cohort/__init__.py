"""impacteval.cohort"""
