// The run's database naming and teardown live with the database package.
export { default } from '@roster/db/test-global-setup';
