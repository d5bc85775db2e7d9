"""Plain functions several test modules share; fixtures live in tests/fixtures."""
