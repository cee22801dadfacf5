"""The pipeline's steps as plain functions over the app: the flows call them inside tasks."""
