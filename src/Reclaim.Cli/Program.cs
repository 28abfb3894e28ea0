using Reclaim.Cli;

LongRunningCommands.RestartOnRuntimeDefaults(args);
StartupWarmup.Start();
return await ReclaimCommandLine.RunAsync(args, Console.Out, Console.Error);
