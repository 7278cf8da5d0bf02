"""`taostream pipeline`: a deepstream-app pipeline folder from bundles (detector, tracker, secondary
classifiers, N sources).

    make   ``create_pipeline``: the folder and its pipeline.json
    cli    the subcommand
"""
