"""app_db"""
__version__ = "0.1.0"
