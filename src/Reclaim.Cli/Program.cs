using Reclaim.Cli;

StartupWarmup.Start();
return await ReclaimCommandLine.RunAsync(args, Console.Out, Console.Error);
