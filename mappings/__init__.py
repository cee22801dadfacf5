"""Pure translations between outside shapes and the core records."""
