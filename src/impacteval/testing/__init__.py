"""impacteval.testing"""
