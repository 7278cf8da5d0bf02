"""taostream's converter/samples/ stage (described in the next commit)."""
