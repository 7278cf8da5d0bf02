"""`taostream evaluate`: the accuracy a deployment reaches on a labelled set.

    run              ``run_evaluate``: datasets, predictions (a bundle's or given), report, --against fp32
    dataset          KITTI folders as TAO reads them, COCO annotation files
    tao              per-class AP / mAP by TAO's own rules per network family (SAMPLE / INTEGRATE)
    coco             COCO AP@[.5:.95], AP50, AP75, mask AP by pycocotools or faster-coco-eval
    classification   top-1 / top-k and the confusion table
"""
