import os,re,collections,sys
g=collections.defaultdict(set)
for root,_,fs in os.walk('src'):
    for f in fs:
        p=os.path.join(root,f); rel=os.path.relpath(p,'src'); top=rel.split('/')[0].replace('.rs','')
        if top in('main','lib','cli'): continue
        txt=re.sub(r'//.*','',open(p).read())
        for m in re.finditer(r'crate::(\w+)',txt):
            if m.group(1)!=top: g[top].add(m.group(1))
        for m in re.finditer(r'use crate::\{([^}]*)\}',txt,re.S):
            for n in re.findall(r'(?:^|,)\s*(\w+)',m.group(1)):
                if n!=top: g[top].add(n)
for k in sorted(g): print(k,'->',sorted(g[k]))
