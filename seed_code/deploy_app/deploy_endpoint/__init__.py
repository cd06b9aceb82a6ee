"""CDK app that deploys the newest approved model of a SageMaker project to one endpoint per stage."""
