"""Tests in a real browser: journeys, accessibility, valid HTML."""
