"""impacteval.spc"""
