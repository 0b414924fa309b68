import * as Tabs from '@radix-ui/react-tabs';
import { Outlet, useLocation, useNavigate } from '@tanstack/react-router';
import { useTitle } from '../lib/title';

const tabs = [
  { value: 'accounts', label: 'Accounts', to: '/security/accounts' },
  { value: 'administrators', label: 'Administrators', to: '/security/administrators' },
  { value: 'provisioning', label: 'Provisioning', to: '/security/provisioning' },
] as const;

/** Security Settings: each tab has its own URL, so the back button and links reach it. */
export function SecurityPage() {
  useTitle('Security Settings');
  const { pathname } = useLocation();
  const navigate = useNavigate();
  const current = tabs.find((tab) => pathname.startsWith(tab.to))?.value ?? 'accounts';
  return (
    <>
      <div className="page-header">
        <h1>Security Settings</h1>
      </div>
      <Tabs.Root
        value={current}
        onValueChange={(value) => {
          const tab = tabs.find((t) => t.value === value);
          if (tab) void navigate({ to: tab.to });
        }}
        activationMode="manual"
      >
        <Tabs.List className="tabs" aria-label="Security Settings">
          {tabs.map((tab) => (
            <Tabs.Trigger key={tab.value} value={tab.value} className="tab">
              {tab.label}
            </Tabs.Trigger>
          ))}
        </Tabs.List>
        <Tabs.Content value={current} className="tab-panel">
          <Outlet />
        </Tabs.Content>
      </Tabs.Root>
    </>
  );
}
