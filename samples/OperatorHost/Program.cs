using KubeConsistency.Samples.Hosting;

// The entry point lives in the samples library so that the tests run the same code in-process.
return await OperatorHostApp.RunAsync(args);
