"""impacteval.matching"""
