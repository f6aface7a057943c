"""Tests of the reference receiver: unit checks and integration against both simulators."""
