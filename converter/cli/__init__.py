"""taostream's converter/cli/ stage (described in the next commit)."""
