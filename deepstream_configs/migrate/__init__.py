"""`taostream migrate`: DeepStream 5.0 to 8.0 configs and their TAO models to current bundles.

    nvinfer   ``migrate_nvinfer``: one nvinfer config and its model to a bundle, each key old -> new
    app       ``migrate`` / ``migrate_app``: a deepstream-app config, one bundle per GIE, sources, tracker,
              sinks and secondary GIEs carried over
    cli       the subcommand and its report (stdout and migration.json)
"""
