"""taostream's converter/modernize/ stage (described in the next commit)."""
