"""impacteval.derive"""
