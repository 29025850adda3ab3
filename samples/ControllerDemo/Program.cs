using KubeConsistency.Samples.Demo;

// Everything lives in the samples library so that the tests can run the same entry point in-process.
return await ControllerDemoApp.RunAsync(args);
