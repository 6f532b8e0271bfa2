"""impacteval.pipeline"""
