#!/usr/bin/env bash
# Creates the two instance profiles cluster.yaml names, with least privilege:
#   raysynth-head:   S3 on one bucket + launching/stopping this cluster's workers
#   raysynth-worker: S3 on one bucket only
# Usage (with an AWS admin profile; run once per account):
#   bash cluster/iam/create.sh my-raysynth-bucket
# Nothing secret is written anywhere: nodes get temporary credentials from their profile.
# head-policy.json pins cluster.yaml's region (us-east-1), instance types and cluster tag:
# the head may launch only those, tag only at launch (or retag its own nodes, never their
# cluster tag) and stop only instances tagged ray-cluster-name=raysynth. Change cluster.yaml
# and the policy together (tests/unit/test_cluster.py checks they agree).
set -euo pipefail

bucket="${1:?usage: create.sh BUCKET (data, models and runs live there)}"
here="$(cd "$(dirname "$0")" && pwd)"
s3_policy=$(sed "s/RAYSYNTH_BUCKET/$bucket/g" "$here/s3-policy.json")

for role in raysynth-head raysynth-worker; do
  aws iam create-role --role-name "$role" \
    --assume-role-policy-document "file://$here/trust-ec2.json" >/dev/null
  aws iam put-role-policy --role-name "$role" --policy-name raysynth-s3 \
    --policy-document "$s3_policy"
  aws iam create-instance-profile --instance-profile-name "$role" >/dev/null
  aws iam add-role-to-instance-profile --instance-profile-name "$role" --role-name "$role"
done
aws iam put-role-policy --role-name raysynth-head --policy-name raysynth-autoscaler \
  --policy-document "file://$here/head-policy.json"
echo "instance profiles raysynth-head and raysynth-worker ready for bucket $bucket"
