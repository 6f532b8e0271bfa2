"""impacteval.linkage"""
