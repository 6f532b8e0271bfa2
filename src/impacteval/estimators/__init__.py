"""impacteval.estimators"""
