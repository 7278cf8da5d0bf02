"""taostream's converter/int8/ stage (described in the next commit)."""
