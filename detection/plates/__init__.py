"""Licence plates: finding, reading and voting on the plate of each vehicle event, and matching plate searches."""
