using FilterService.Admin.Simulator;

namespace FilterService.Admin.Pages.Simulator;

/// <summary>"Why was this blocked?": one request decided by the same explainer as <c>explain</c>, with the full trace.</summary>
internal sealed class IndexModel(SimulatorService simulator) : SimulatorPageModel(simulator)
{
    internal Explanation? Explanation { get; private set; }

    public void OnGet()
    {
        At ??= Simulator.Now;
        if (Form.Asked)
        {
            Explanation = Simulator.Explain(Form, User, Problems);
        }
    }
}
