"""impacteval.checks"""
