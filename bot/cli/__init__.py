"""The `parkbot` command line: the parser, one module per command, and terminal tables and progress."""
