"""impacteval.report"""
