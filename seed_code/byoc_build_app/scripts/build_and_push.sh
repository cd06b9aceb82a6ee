#!/usr/bin/env bash
# Build the image in container/ and push it to the project's ECR repository,
# tagged with the commit id and "latest".
#
# Usage: ECR_REPO_URI=<account>.dkr.ecr.<region>.amazonaws.com/<repo> scripts/build_and_push.sh [tag]
# The tag defaults to CodeBuild's commit id (CODEBUILD_RESOLVED_SOURCE_VERSION),
# else the local git commit, else only "latest".
set -euo pipefail

: "${ECR_REPO_URI:?Set ECR_REPO_URI to the URI of the ECR repository of the project}"
context="$(cd "$(dirname "$0")/../container" && pwd)"
tag="${1:-${CODEBUILD_RESOLVED_SOURCE_VERSION:-$(git -C "$context" rev-parse HEAD 2>/dev/null || echo latest)}}"
registry="${ECR_REPO_URI%%/*}"
# <account>.dkr.ecr.<region>.amazonaws.com: the 4th dot-separated field is the region.
region="${AWS_REGION:-$(cut -d. -f4 <<<"$registry")}"

echo "Logging in to $registry"
aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry"

echo "Building $ECR_REPO_URI:$tag from $context"
docker build --tag "$ECR_REPO_URI:$tag" --tag "$ECR_REPO_URI:latest" "$context"

docker push "$ECR_REPO_URI:$tag"
docker push "$ECR_REPO_URI:latest"
echo "Pushed $ECR_REPO_URI:$tag"
