"""The converter's subcommands (registered by taostream/cli.py's COMMAND_MODULES) and `tao-converter`.

    model          decode, encode, inspect
    sample         sample
    modernize      modernize, calibration
    convert        convert (tao-converter's job with friendlier option names)
    plugins        plugins check
    tao_converter  the `tao-converter` program (NVIDIA's documented command line)

The heavy stages (modernize, int8, plugin checks, calibration) are imported inside the commands, so
that `taostream --help` does not load them.
"""
