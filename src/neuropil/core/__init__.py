"""Small typed values with one parser each, shared by server, client and streaming code."""
