"""Sending engine: message building and transports."""
