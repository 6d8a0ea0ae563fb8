# Loopback-only Ray for the local demo and tests (a node of a real multi-node cluster must NOT
# source this). Dummy AWS credentials only for the local moto S3 endpoint used by the tests.
export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0
export RAY_USAGE_STATS_ENABLED=0
export RAY_DEDUP_LOGS=1
export AWS_EC2_METADATA_DISABLED=true
