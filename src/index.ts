export * from './seed-code-asset';
export * from './seed-code';
export * from './deployment-stage';
export * from './build-pipeline';
export * from './deploy-pipeline';
