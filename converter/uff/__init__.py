"""taostream's converter/uff/ stage (described in the next commit)."""
