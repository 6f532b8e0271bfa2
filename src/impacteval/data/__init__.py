"""impacteval.data"""
