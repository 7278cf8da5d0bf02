"""TAO/TLT command wrappers, experiment-spec tooling, AzureML components and KITTI dataset checks."""
