/** Browser test files run at the same time, each with a browser and an administrator of its own. */
export const parallelFiles = 2;
