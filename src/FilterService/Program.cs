return args.Length > 0 && FilterService.Cli.CliCommands.IsCommand(args[0]) ? await FilterService.Cli.CliCommands.RunAsync(args) : await FilterService.Hosting.ProxyHost.RunAsync(args);
