"""Preprocessing, image folders and labels (numpy + Pillow only)."""
