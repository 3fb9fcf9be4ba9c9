"""Thin argparse commands over the ghostedge library."""
