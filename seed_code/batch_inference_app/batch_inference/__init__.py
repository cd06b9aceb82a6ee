"""CDK app that scores data in S3 with the newest approved model of a SageMaker project, on a schedule, per stage."""
