"""Printers: each turns a Solution into one output format and computes nothing."""
