"""impacteval.inference"""
